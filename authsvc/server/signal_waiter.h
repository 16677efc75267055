#pragma once
// The signals a long-running command (`serve`, `guardian`) obeys: SIGINT and
// SIGTERM stop it, SIGHUP reopens its audit log (logrotate's postrotate).
//
// They are blocked in every thread and taken by one thread that waits for
// them, so that a signal never interrupts a request or the audit writer, and
// a handler may take locks and call anything (it is not a signal handler).
// Blocking is per thread and inherited: create the SignalWaiter in the main
// thread before any other thread starts, or a thread started earlier could
// take a SIGTERM with its default action (death, audit lines unwritten).

#include <functional>
#include <memory>
#include <thread>

namespace authsvc {

class SignalWaiter {
 public:
  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread. A signal that
  // comes before start() waits (pending) and is handled once it is called.
  // Throws authsvc::Error if the kernel refuses (no file descriptor left).
  SignalWaiter();
  // Ends the waiting thread if it runs, then unblocks the three signals
  // again (and discards those that came after the waiting ended: the
  // process is done with them).
  ~SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  // Waits on a thread of its own: calls on_stop for each SIGINT or SIGTERM,
  // on_reopen for each SIGHUP, until stop(). Call it once. The handlers run
  // on that thread, one at a time, and must not throw.
  void start(std::function<void()> on_stop, std::function<void()> on_reopen);
  // Ends the waiting thread, whether a signal came or not (start-up failed,
  // the work ended on its own); no handler runs once it returns. Call it
  // before what the handlers use goes away. Idempotent.
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

// Runs `waiter.stop()` when it goes out of scope: declare it after the
// objects the handlers use, so that it ends the waiting before they go, on
// every path out (a return or an exception).
class StopWaitingOnExit {
 public:
  explicit StopWaitingOnExit(SignalWaiter& waiter) : waiter_(waiter) {}
  ~StopWaitingOnExit() { waiter_.stop(); }
  StopWaitingOnExit(const StopWaitingOnExit&) = delete;
  StopWaitingOnExit& operator=(const StopWaitingOnExit&) = delete;

 private:
  SignalWaiter& waiter_;
};

}  // namespace authsvc
