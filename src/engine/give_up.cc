#include "engine/give_up.h"

namespace lmover {
namespace {
thread_local const std::function<bool()>* still_ours_here = nullptr;
}  // namespace

GiveUpWhen::GiveUpWhen(std::function<bool()> still_ours) : still_ours_(std::move(still_ours)), outer_(still_ours_here) {
  still_ours_here = &still_ours_;
}

GiveUpWhen::~GiveUpWhen() { still_ours_here = outer_; }

void give_up_point() {
  if (still_ours_here && !(*still_ours_here)()) throw TaskGivenUp{};
}

}  // namespace lmover
