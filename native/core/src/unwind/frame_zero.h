// frame_zero.h: where the innermost frame's return address and caller's RBP
// are. Only frame 0 can be stopped mid-prologue, mid-epilogue, inside
// sra_alloc or in a function without a frame pointer; every other frame is
// at a call, where the RBP chain describes it.
#pragma once

#include <optional>
#include <string>

#include "unwind/walk.h"

namespace frameaudit::detail {

struct FrameZero {
  FrameFacts facts;
  /// True if frame 0 has its frame pointer set up: its own pair is at RBP
  /// and the walk starts there. Otherwise the fields below say where
  /// the return address and the caller's RBP are.
  bool rbp_based = true;
  uint64_t cfa = 0;
  uint64_t return_slot = 0;               ///< CFA - 8
  std::optional<uint64_t> saved_rbp_slot; ///< where the caller's RBP was pushed, if it was
  uint64_t caller_rbp = 0;                ///< from that slot, or the RBP register
  std::string how;                        ///< one phrase for the chain view
};

/// Decide how to unwind a frame stopped at an arbitrary instruction (frame 0,
/// or the context a signal interrupted) from its registers and decoded code.
FrameZero locate_frame_zero(TargetCache &cache, const StackImage &image, const Registers &regs);

} // namespace frameaudit::detail
