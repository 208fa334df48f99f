#pragma once
#include "axon/export.h"

namespace axon {
// The version of the libaxon.so loaded at run time, "major.minor.patch".
AXON_API const char* version();
}  // namespace axon
