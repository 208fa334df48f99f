#pragma once
// The field numbers of onnx.proto (ONNX 1.12, IR version 8) that axon reads and writes, and
// the enum values it uses. The names follow the messages: ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto, ValueInfoProto, TypeProto(.Tensor), TensorShapeProto(.Dimension),
// OperatorSetIdProto, StringStringEntryProto.
namespace axon::io::onnx_fields {

inline constexpr long kIrVersion = 8;  // opset 17's
inline constexpr long kOpset = 17;

// ModelProto
inline constexpr int kModelIrVersion = 1, kModelProducerName = 2, kModelProducerVersion = 3, kModelDomain = 4,
                     kModelVersion = 5, kModelDocString = 6, kModelGraph = 7, kModelOpsetImport = 8,
                     kModelMetadataProps = 14, kModelTrainingInfo = 20, kModelFunctions = 25;
// OperatorSetIdProto
inline constexpr int kOpsetDomain = 1, kOpsetVersion = 2;
// StringStringEntryProto
inline constexpr int kStringEntryKey = 1, kStringEntryValue = 2;
// GraphProto
inline constexpr int kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphDocString = 10, kGraphInput = 11,
                     kGraphOutput = 12, kGraphValueInfo = 13, kGraphSparseInitializer = 15;
// NodeProto
inline constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
                     kNodeDocString = 6, kNodeDomain = 7;
// AttributeProto and its AttributeType
inline constexpr int kAttributeName = 1, kAttributeFloat = 2, kAttributeInt = 3, kAttributeString = 4,
                     kAttributeTensor = 5, kAttributeGraph = 6, kAttributeFloats = 7, kAttributeInts = 8,
                     kAttributeStrings = 9, kAttributeType = 20, kAttributeRefName = 21;
inline constexpr int kAttrFloat = 1, kAttrInt = 2, kAttrString = 3, kAttrTensor = 4, kAttrGraph = 5, kAttrFloats = 6,
                     kAttrInts = 7, kAttrStrings = 8;
// TensorProto and its DataType
inline constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorFloatData = 4, kTensorInt32Data = 5,
                     kTensorInt64Data = 7, kTensorName = 8, kTensorRawData = 9, kTensorDoubleData = 10,
                     kTensorExternalData = 13, kTensorDataLocation = 14;
inline constexpr int kFloat = 1, kInt32 = 6, kInt64 = 7, kDouble = 11;
// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
inline constexpr int kValueInfoName = 1, kValueInfoType = 2;
inline constexpr int kTypeTensorType = 1;
inline constexpr int kTensorTypeElemType = 1, kTensorTypeShape = 2;
inline constexpr int kShapeDim = 1;
inline constexpr int kDimValue = 1, kDimParam = 2;

}  // namespace axon::io::onnx_fields
