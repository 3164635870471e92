#pragma once
// Child processes for the tests that run `quacktracks` beside the service (worker processes,
// start-up errors): spawn with extra environment, and poll for a condition.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace quack::test {

/// Starts the CLI (QUACK_CLI_PATH) with `args` and this process's environment plus `extraEnv`.
/// stdout goes to `stdoutPath` (appended; "/dev/null" to drop it); stderr too when
/// `stderrToo`, else it stays the test's. Returns the pid (-1 if fork failed).
inline pid_t spawnCli(const std::vector<std::string>& args, const std::vector<std::string>& extraEnv,
                      const std::string& stdoutPath = "/dev/null", bool stderrToo = false) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
        env.emplace_back(*e);
    env.insert(env.end(), extraEnv.begin(), extraEnv.end());
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string exe = QUACK_CLI_PATH;
    std::vector<std::string> argStore = args;
    std::vector<char*> argv{exe.data()};
    for (auto& a : argStore)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec (the parent has threads).
        const int fd = open(stdoutPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            if (stderrToo)
                dup2(fd, STDERR_FILENO);
        }
        execve(exe.c_str(), argv.data(), envp.data());
        _exit(127);
    }
    return pid;
}

/// Polls `pred` every `step` until it holds or `timeout` passes; returns its last value.
template <class Pred> bool waitFor(Pred pred, std::chrono::milliseconds timeout, std::chrono::milliseconds step) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred())
            return true;
        std::this_thread::sleep_for(step);
    }
    return pred();
}

} // namespace quack::test
