"""mmengine.fileio"""
