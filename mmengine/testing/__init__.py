"""mmengine.testing"""
