// SPDX-License-Identifier: MIT
// urt.h compiled as C++ (tests/install_e2e.sh: g++ -std=c++17 -pedantic
// -Werror), linked and run: the header's extern "C" block and types.
#include <urt.h>
#include <cstdio>
#include <cstring>

static int task(void *arg)
{
	int *hits = static_cast<int *>(arg);
	if (urt_sleep_ms(1) != 0)
		return -1;
	return ++*hits;
}

static int main_task(void *arg)
{
	urt_task *t = urt_spawn(task, arg);
	int res = 0;
	if (t == nullptr || urt_join(t, &res) != 0)
		return -1;
	return res;
}

int main()
{
	urt_options o{};   // value-initialised: every field, reserved[] included, zero
	o.flags = URT_OPT_QUIET;
	int hits = 0;
	int r = urt_run_opts(&o, main_task, &hits);
	if (r != 1 || hits != 1 || std::strlen(URT_VERSION_STRING) == 0) {
		std::fprintf(stderr, "consumer-cxx: urt_run_opts %d, hits %d\n", r, hits);
		return 1;
	}
	std::printf("consumer-cxx: ok (urt %s)\n", URT_VERSION_STRING);
	return 0;
}
