/**
 * Carrying a trained model to other engines and back: ONNX (ONNX Runtime, transformers.js) and
 * PyTorch (training on with torch.distributed, then `importPytorch` into an mlm-ts run).
 *
 * @example
 *   import { exportOnnx, exportPytorch, importPytorch } from "mlm-ts/interop";
 *   await exportOnnx("runs/demo", "exported/onnx", "0.1.0");
 *   await exportPytorch("runs/demo", "exported/torch", "0.1.0");
 *   await importPytorch("trained", "runs/from-torch");
 */
export { exportOnnx, ONNX_EXPORT_FILES, type ExportResult } from "./export-onnx.js";
export {
  exportPytorch,
  pythonTrainerPath,
  PYTORCH_EXPORT_FORMAT,
  PYTORCH_EXPORT_VERSION,
  type PytorchExportOptions,
} from "./export-pytorch.js";
export { exportHf, bertName, bertConfig, checkBertArchitecture } from "./export-hf.js";
export { importPytorch, type ImportResult } from "./import-pytorch.js";
export { mlmOnnxModel, mlmGraph, modelGraph, ONNX_OPSET, ONNX_IR_VERSION, type OnnxTask } from "./onnx-model.js";
export { encodeModel, type OnnxModel, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";
export { GraphBuilder } from "./onnx-graph.js";
export { ProtoMessage } from "../util/protobuf.js";
export { npyInt32, npyArray } from "./npy.js";
export { architectureSummary, javascriptTokenizerProblem, tokenizerConfig, transformersConfig } from "./hf-files.js";
export { checkExportable, EXPORTED_MODEL_OPTIONS } from "./model-options.js";
export { checkOutputFolder, OutputFolderError, type OutputInput } from "./output-folder.js";
export { checkFiniteTensors } from "./finite-tensors.js";
export { torchName, toTorchLayout, fromTorchLayout } from "./torch-layout.js";
