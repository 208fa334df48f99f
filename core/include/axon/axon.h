#pragma once
// The umbrella header: everything axon offers.
#include "axon/backend.h"
#include "axon/device.h"
#include "axon/dtype.h"
#include "axon/error.h"
#include "axon/op_kinds.h"
#include "axon/ops.h"
#include "axon/random.h"
#include "axon/shape.h"
#include "axon/tensor.h"
#include "axon/threading.h"
#include "axon/version.h"
