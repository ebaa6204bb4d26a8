"""mmengine.config"""
