"""mmengine.model"""
