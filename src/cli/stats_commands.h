// `lmover stats show` and `lmover stats graphite`: every node's counters as memcached holds them,
// in the terminal (with rates) or pushed to Graphite's carbon plaintext receiver (from cron with
// --once, or as a service).
#pragma once

#include <string>

#include "cli/broker_settings.h"

namespace lmover {

struct StatsPlan {
  std::string command;  // show | graphite
  std::string memcached, metric_prefix = "lmover";
  std::string carbon;     // graphite: HOST:PORT
  double interval = 0;    // show: seconds between the two readings rates come from (0: no rates);
                          // graphite: seconds between pushes (0 with --once)
  bool once = false;
  bool json = false;      // show: a JSON document instead of a table
  // graphite: with a broker, the task queues' depths go too.
  BrokerSettings broker;
};

int execute(const StatsPlan& plan);

}  // namespace lmover
