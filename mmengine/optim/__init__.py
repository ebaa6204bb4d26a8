"""mmengine.optim"""
