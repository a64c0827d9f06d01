/* A liblustreapi.so that lacks most of the API (an old or foreign library under the right name):
 * lmover must refuse it by name, not crash on the first missing call. */
#include <stdint.h>
struct llapi_layout;
struct llapi_layout *llapi_layout_get_by_fd(int fd, uint32_t flags) {
  (void)fd, (void)flags;
  return 0;
}
