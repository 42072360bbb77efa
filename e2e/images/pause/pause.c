/* The pod sandbox's process for the e2e node (containerd's sandbox_image): holds the pod's
 * namespaces, reaps orphaned children (it is PID 1 of a pod that shares its PID namespace), and
 * exits at once on SIGTERM or SIGINT so that stopping a sandbox takes no grace period. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void leave(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  /* -v: say what this is and exit (the image's smoke test; the real pause image does the same). */
  if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v') {
    static const char version[] = "pillion e2e pause\n";
    return write(1, version, sizeof version - 1) == sizeof version - 1 ? 0 : 1;
  }
  struct sigaction stop = {.sa_handler = leave};
  struct sigaction child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGCHLD, &child, NULL) < 0)
    return 1;
  for (;;) pause();
}
