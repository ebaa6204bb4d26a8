"""mmengine.logging"""
