#include <cstdio>
int main() { std::puts("flowline"); return 0; }
