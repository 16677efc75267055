#include "authsvc/cli/cli.h"

int main(int argc, char** argv) { return authsvc::run_cli(argc, argv); }
