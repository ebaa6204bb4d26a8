"""mmengine.structures"""
