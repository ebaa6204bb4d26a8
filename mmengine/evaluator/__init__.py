"""mmengine.evaluator"""
