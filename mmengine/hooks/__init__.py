"""mmengine.hooks"""
