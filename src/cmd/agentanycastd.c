/* agentanycastd: placeholder main, replaced by the daemon skeleton. */
#include <stdio.h>
int main(void) { puts("agentanycastd " AA_VERSION); return 0; }
