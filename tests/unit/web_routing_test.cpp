// --web.route-prefix routing (route_of), the landing page's links, and the
// sd_listen_fds protocol of --web.systemd-socket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "http/pages.h"
#include "http/systemd_socket.h"
#include "smtp_exporter/app.h"

namespace smtp_exporter::exporter {
namespace {

using testing::HasSubstr;
using testing::Not;

TEST(RouteOf, WithoutPrefixEveryPathIsItsRoute) {
  EXPECT_EQ(route_of("/metrics", "/"), "/metrics");
  EXPECT_EQ(route_of("/", "/"), "/");
  EXPECT_EQ(route_of("/-/reload", "/"), "/-/reload");
}

TEST(RouteOf, UnderAPrefix) {
  EXPECT_EQ(route_of("/smtp", "/smtp"), "/");
  EXPECT_EQ(route_of("/smtp/", "/smtp"), "/");
  EXPECT_EQ(route_of("/smtp/metrics", "/smtp"), "/metrics");
  EXPECT_EQ(route_of("/smtp/probe", "/smtp"), "/probe");
  EXPECT_EQ(route_of("/smtp/-/healthy", "/smtp"), "/-/healthy");
  EXPECT_EQ(route_of("/a/b/healthz", "/a/b"), "/healthz");
  EXPECT_EQ(route_of("/smtp//metrics", "/smtp"), "//metrics");  // no route: 404
}

TEST(RouteOf, OutsideThePrefixIsNoRoute) {
  EXPECT_EQ(route_of("/", "/smtp"), std::nullopt);
  EXPECT_EQ(route_of("/metrics", "/smtp"), std::nullopt);
  EXPECT_EQ(route_of("/smtpx/metrics", "/smtp"), std::nullopt);
  EXPECT_EQ(route_of("/smt", "/smtp"), std::nullopt);
  EXPECT_EQ(route_of("/a/metrics", "/a/b"), std::nullopt);
}

TEST(LandingPage, EveryLinkStartsWithTheBase) {
  config::Config config = config::default_config();
  std::vector<HistoryEntry> recent{{7, "mx.example.com", "smtp_banner", true, {}, 0.1, nullptr}};
  for (const std::string base : {"", "/smtp", "https://proxy.example.com/smtp"}) {
    std::string html = landing_page(config, recent, base);
    for (const char* route : {"/probe\"", "/probe?target=", "/metrics\"", "/config\"", "/healthz\"", "/-/healthy\"",
                              "/logs?id=7\""})
      EXPECT_THAT(html, HasSubstr("=\"" + base + route)) << base << route;
    if (!base.empty()) {
      EXPECT_THAT(html, Not(HasSubstr("href=\"/metrics"))) << base;
      EXPECT_THAT(html, Not(HasSubstr("action=\"/probe"))) << base;
    }
  }
  // The base is escaped like any other attribute value.
  EXPECT_THAT(landing_page(config, recent, "http://h/a\"b"), HasSubstr("href=\"http://h/a&quot;b/metrics\""));
}

TEST(ListenFds, TheProtocolOfSdListenFds) {
  std::string error;
  EXPECT_EQ(listen_fds_count("42", "1", 42, error), 1) << error;
  EXPECT_EQ(listen_fds_count("42", "3", 42, error), 3) << error;
}

TEST(ListenFds, RejectsWhatIsNotForThisProcess) {
  struct Case {
    const char* pid;
    const char* fds;
    const char* error;
  };
  for (const Case& c : {
           Case{nullptr, nullptr, "LISTEN_PID and LISTEN_FDS are not set: no socket was passed by systemd (start the "
                                  ".socket unit)"},
           Case{"42", nullptr, "LISTEN_PID and LISTEN_FDS are not set: no socket was passed by systemd (start the "
                               ".socket unit)"},
           Case{"41", "1", "LISTEN_PID is 41, not this process (42): the sockets were passed to another process"},
           Case{"x", "1", "LISTEN_PID \"x\" is not a process id"},
           Case{"42", "0", "LISTEN_FDS \"0\" is not a number of sockets from 1 to 1024"},
           Case{"42", "-1", "LISTEN_FDS \"-1\" is not a number of sockets from 1 to 1024"},
           Case{"42", "two", "LISTEN_FDS \"two\" is not a number of sockets from 1 to 1024"},
       }) {
    std::string error;
    EXPECT_EQ(listen_fds_count(c.pid, c.fds, 42, error), std::nullopt);
    EXPECT_EQ(error, c.error);
  }
}

}  // namespace
}  // namespace smtp_exporter::exporter
