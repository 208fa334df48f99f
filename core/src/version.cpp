#include "axon/version.h"

namespace axon {
const char* version() { return AXON_VERSION_STRING; }
}  // namespace axon
