"""mmengine.runner"""
