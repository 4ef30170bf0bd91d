#pragma once
// Runs a cluster against wall time, so that a real scraper sees it live: `pace` simulated
// seconds per wall second (60: an hour in a minute), one scrape interval at a time, each
// simulated scrape happening at its wall time. Stops at `until`, or early on SIGINT/SIGTERM
// (handlers installed for the call only, the previous ones restored after).
#include <opsrl/sim/cluster.hpp>

namespace opsrl::cli {

struct PacedRun {
  sim::SimTime reached = 0;  // the simulated time the cluster was run to
  int signal = 0;            // SIGINT or SIGTERM if one ended the run early, else 0
};

PacedRun run_paced(sim::Cluster& cluster, sim::SimTime until, double pace);

}  // namespace opsrl::cli
