// CounterPusher: pushes counters that only grow (a pass's, or each node's in a distributed run) to
// memcached from a thread of its own, every `interval`, so that the copy never waits for it.
//
// It sends what grew since the last push that memcached accepted. A memcached that is down or goes
// away is logged once and retried with a growing pause (up to the interval); nothing is lost
// meanwhile, since the next push that succeeds carries everything since.
//
// Counted once: an increment that times out may still have been applied (a stopped memcached
// reads it when it resumes), and sending it again would count it twice. So each push reads the
// counter with its CAS token and stores the new sum only if nobody wrote in between; after a push
// whose fate is unknown, the next read tells whether it landed (the value is the one we stored).
// flush() (at the end of each pass) and the destructor push the rest, retrying for at most
// `final_wait` if memcached answered until then (not at all if it was already away: a pass never
// waits for its statistics).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stats/counter_sink.h"
#include "stats/memcached_counters.h"

namespace lmover {

class CounterPusher : public CounterSink {
 public:
  CounterPusher(std::string server, std::string metric_prefix, std::chrono::milliseconds interval,
                CounterSource source, std::chrono::milliseconds final_wait = std::chrono::seconds(2));
  ~CounterPusher() override;
  CounterPusher(const CounterPusher&) = delete;
  CounterPusher& operator=(const CounterPusher&) = delete;

  static std::string key(const std::string& prefix, const CounterValue& c);

  // Pushes everything there is now, from the caller's thread.
  std::string flush() override;

 private:
  void loop();
  bool push_once();  // true if everything there is went out; with push_mutex_ held
  bool push_and_say();  // push_once, logging when memcached goes away and comes back
  // After a failed push: tries again for at most final_wait_ (not at all if it was failing before).
  void push_rest(bool was_failing);

  MemcachedCounters client_;
  std::string prefix_;
  std::chrono::milliseconds interval_, final_wait_;
  CounterSource source_;
  // Per key: how much of our count memcached holds, and the push whose fate is unknown (the sum
  // we asked it to store, and our count then), if any.
  struct KeyState {
    uint64_t sent = 0;
    uint64_t unsure_sum = 0, unsure_count = 0;
    bool unsure = false;
  };
  bool push(const std::string& key, uint64_t count);
  std::map<std::string, KeyState> keys_;
  std::map<std::string, bool> nodes_known_;
  bool failing_ = false;
  std::mutex push_mutex_;  // the client and the state above: the thread's pushes and flush()

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lmover
