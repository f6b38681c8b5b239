// The pipeline's client side, for verify-ready's e2e step and for benchmarks: frames, resizing,
// letterboxing, the component flows and their post-processing. See README.md.
export * from "./frame.ts";
export * from "./buffers.ts";
export * from "./resize.ts";
export * from "./letterbox.ts";
export * from "./yolo.ts";
export * from "./clip.ts";
export * from "./topk.ts";
export * from "./tensor.ts";
export * from "./components.ts";
