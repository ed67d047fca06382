"""PyTorch building blocks of the deep models: the one training loop they share, its losses,
negative samplers, checkpoints and devices, and the field-embedding layer.

torch is imported by these modules only, so `import recforge` stays light.
"""
