// Writes every page, filled with tests/page_samples.h, as HTML files into a
// folder, with the static files under static/, so that they can be looked
// at in a browser as served:
//
//   build/tests/pages_preview OUT
//   python3 -m http.server --bind 127.0.0.1 --directory OUT 8123
//   chromium --headless=new --no-sandbox --disable-dev-shm-usage
//       --window-size=1280,900 --screenshot=account.png http://127.0.0.1:8123/account.html
//     (one command)
//
// Not a test: the pages' tests are authsvc/web/pages_test.cc. This is how
// their look is checked, by a person (or headless Chromium's screenshots).

#include <filesystem>
#include <fstream>
#include <iostream>

#include "tests/page_samples.h"

namespace {

using namespace authsvc;
using namespace authsvc::testing;

void write(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pages_preview OUT_DIR\n";
    return 2;
  }
  std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out / "static");
  for (std::string_view name : {"style.css", "app.js"}) {
    write(out / "static" / name, find_static_file(name)->content);
  }

  write(out / "home.html", render(sample_home()));
  write(out / "dev_login.html", render(sample_dev_login()));
  write(out / "accounts.html", render(sample_accounts_page()));
  AccountsPage no_accounts;
  no_accounts.frame = sample_frame("My accounts");
  no_accounts.frame.notice = "Account alice-app deleted.";
  write(out / "accounts_empty.html", render(no_accounts));
  write(out / "new_account.html", render(sample_new_account()));
  write(out / "account.html", render(sample_account_page()));
  AccountPage legacy = sample_account_page();
  legacy.account = sample_accounts()[1];
  legacy.credential_issued = "";
  legacy.delete_error = "Type alice-ci exactly to delete it.";
  legacy.queues_unavailable = "Queues cannot be shown: the broker's management API did not answer.";
  legacy.frame.dev_login = true;
  write(out / "account_legacy.html", render(legacy));
  write(out / "secret.html", render(sample_secret()));
  SecretPage key;
  key.frame = sample_frame();
  key.heading = "API key created";
  key.secret = "ak_Vn2Lx9Qe7TgH0bRs4YcW1mZp8KdJ3uFa6oNi5EtS";
  key.back_href = "/apikeys";
  write(out / "secret_key.html", render(key));
  write(out / "queues.html", render(sample_queues_page()));
  write(out / "exchanges.html", render(sample_exchanges_page()));
  write(out / "exchange.html", render(sample_exchange_page()));
  write(out / "apikeys.html", render(sample_api_keys()));
  write(out / "admin.html", render(sample_admin()));
  write(out / "error.html", render(sample_error()));
  std::cout << "wrote the pages to " << out.string() << "\n";
  return 0;
}
