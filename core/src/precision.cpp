#include "axon/precision.h"

#include <atomic>

namespace axon {

namespace {
std::atomic<bool> tf32_allowed{false};
}

void set_allow_tf32(bool allow) { tf32_allowed.store(allow); }
bool allow_tf32() { return tf32_allowed.load(); }

}  // namespace axon
