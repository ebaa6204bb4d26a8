"""mmengine.device"""
