// The open-files limit and the /probe concurrency limit derived from it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "core/open_files.h"

namespace smtp_exporter::exporter {
namespace {

// Restores RLIMIT_NOFILE after a test that lowers it.
class SavedFileLimit {
 public:
  SavedFileLimit() { getrlimit(RLIMIT_NOFILE, &saved_); }
  ~SavedFileLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  rlimit saved_{};
};

TEST(Limits, ConfiguredMaxConcurrentProbesIsUsedAsIs) {
  EXPECT_EQ(max_concurrent_probes(config::Limits{7}), 7u);
}

TEST(Limits, DefaultIsSizedFromTheOpenFilesLimit) {
  SavedFileLimit saved;
  rlimit lowered{1024, saved.saved_.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  EXPECT_EQ(max_concurrent_probes(config::Limits{}), (1024u - 64u) / 3u);
  lowered.rlim_cur = 40;  // less than the reserve: still one probe at a time
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  EXPECT_EQ(max_concurrent_probes(config::Limits{}), 1u);
}

TEST(Limits, MaxConnectionsLeavesRoomForTheProbesSockets) {
  config::Limits configured;
  configured.max_connections = 9;
  EXPECT_EQ(max_connections(configured), 9u);
  SavedFileLimit saved;
  rlimit lowered{1024, saved.saved_.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  // 1024 - 64 reserved - 2 x 320 probes (their SMTP and DNS sockets) = 320,
  // but never fewer than the probes in flight (each holds a connection) + 16.
  EXPECT_EQ(max_connections(config::Limits{}), 320u + 16u);
  config::Limits few_probes{10};
  EXPECT_EQ(max_connections(few_probes), 1024u - 64u - 20u);
  // More probes configured than the descriptors allow: still one connection each.
  config::Limits many_probes{20000};
  EXPECT_EQ(max_connections(many_probes), 20000u + 16u);
  lowered.rlim_cur = 40;  // less than the reserve: one probe and a few connections
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  EXPECT_EQ(max_connections(config::Limits{}), 1u + 16u);
}

TEST(Limits, RaisingTheOpenFilesLimitReachesTheHardLimit) {
  SavedFileLimit saved;
  if (saved.saved_.rlim_max < 2048) GTEST_SKIP() << "hard limit " << saved.saved_.rlim_max << " is too low to test";
  rlimit lowered{1024, saved.saved_.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  OpenFilesLimit raised = raise_open_files_limit();
  EXPECT_EQ(raised.before, 1024u);
  EXPECT_EQ(raised.after, saved.saved_.rlim_max);
  EXPECT_EQ(raised.hard, saved.saved_.rlim_max);
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  EXPECT_EQ(now.rlim_cur, saved.saved_.rlim_max);
}

}  // namespace
}  // namespace smtp_exporter::exporter
