"""The torch side of visionplay: training (settings, data, augmentation, the loop,
checkpoints and their history) and export to ONNX. Serving never imports it."""
