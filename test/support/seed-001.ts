// Seed 001's READY checklist for the local baseline, verbatim: 20 required and 15 optional models.
// Tests compare what the tool derives (checklist, repository) with this list, typed here once.
export const SEED_REQUIRED = [
  "midas_256", "midas_384", "midas_512", "midas_256_onnx", "midas_384_onnx", "midas_512_onnx",
  "preprocess_midas_256", "preprocess_midas_384", "preprocess_midas_512",
  "raft_256", "raft_256_onnx", "preprocess_raft_256",
  "clip_image_224", "clip_image_224_onnx", "preprocess_clip_image_224",
  "clip_text", "clip_text_onnx",
  "places365_resnet50_224", "places365_resnet50_224_onnx", "preprocess_places365_224",
];
export const SEED_OPTIONAL = [
  "yolo11x_320", "yolo11x_640", "yolo11x_960",
  "raft_384", "raft_384_onnx", "preprocess_raft_384", "raft_512", "raft_512_onnx", "preprocess_raft_512",
  "places365_resnet50_336", "places365_resnet50_336_onnx", "preprocess_places365_336",
  "places365_resnet50_448", "places365_resnet50_448_onnx", "preprocess_places365_448",
];
