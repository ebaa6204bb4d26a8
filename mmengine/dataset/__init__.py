"""mmengine.dataset"""
