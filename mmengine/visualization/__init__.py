"""mmengine.visualization"""
