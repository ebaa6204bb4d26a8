"""mmengine._strategy"""
