// BrokerRetry: how every party treats a broker that went away: it tries again with backoff
// (0.5 s, doubling to 10 s). A worker tries for ever (kForever); a command that drives a run (the
// submitter, `lmover wait`) for as long as the user allows (--broker-retry-for, counted from the moment contact was lost, so a
// two-day pass rides through any number of restarts). Every failed try is said with the broker's
// address, what failed, and when the next try comes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "distributed/broker.h"

namespace lmover {

// A run the broker does not know (over, or never started): trying again cannot help.
class RunNotFound : public BrokerError {
 public:
  using BrokerError::BrokerError;
};

class BrokerRetry {
 public:
  static constexpr std::chrono::seconds kDefaultBound{600};
  static constexpr std::chrono::seconds kForever = std::chrono::seconds::max();

  explicit BrokerRetry(std::chrono::seconds bound = kDefaultBound, const std::atomic<bool>* stop = nullptr)
      : bound_(bound), stop_(stop) {}

  // Runs `attempt` until it returns without a BrokerError. Throws the last BrokerError once the
  // bound is spent, a RunNotFound at once, and Stopped when `stop` turned true meanwhile.
  void run(const std::string& what, const std::function<void()>& attempt) const;
  // Said by an attempt once it is in touch with the broker again: the bound and the backoff then
  // start afresh at its next failure.
  void contact() const { ++contacts_; }

  // Thrown by run() when the stop flag ended the waiting.
  struct Stopped {};

  std::chrono::seconds bound() const { return bound_; }
  bool forever() const { return bound_ == kForever; }

 private:
  std::chrono::seconds bound_;
  const std::atomic<bool>* stop_;
  mutable std::atomic<uint64_t> contacts_{0};
};

}  // namespace lmover
