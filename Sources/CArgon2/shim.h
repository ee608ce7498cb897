// Debian's libargon2-dev (the reference implementation) provides this header and the library.
#include <argon2.h>
