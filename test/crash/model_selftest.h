// Checks of the crash model itself (RecordingDomain, CrashStates, the image
// plan) on hand-made store sequences, run before every crash_states run.
#pragma once

#include <string>
#include <vector>

namespace hapm::crash {

// The expectations that failed; empty when the model behaves.
std::vector<std::string> model_self_test();

}  // namespace hapm::crash
