// FCrDNS and name consistency (probes/checks/fcrdns.cpp).
#pragma once

#include "dns.h"
#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

// The facts of the unit, for tests and views that want them typed.
struct FcrdnsSection {
  std::string ip;                       // the address connected to
  std::string expected;                 // the target or MX host name the probe was given
  DnsError ptr_error = DnsError::none;  // of the PTR lookup
  std::string ptr_detail;
  std::vector<std::string> ptr_names;   // the PTR names of ip
  std::vector<std::string> confirmed;   // those whose A/AAAA include ip
  std::string banner_hostname;          // the name in the 220 greeting
  std::string ehlo_hostname;            // the name in the EHLO reply
};

const Check& fcrdns_check();

}  // namespace smtp_exporter::probes
