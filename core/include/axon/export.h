#pragma once
// AXON_API marks what libaxon.so exports; everything else is hidden (-fvisibility=hidden).
#if defined(_WIN32)
#  if defined(AXON_BUILDING_LIBRARY)
#    define AXON_API __declspec(dllexport)
#  else
#    define AXON_API __declspec(dllimport)
#  endif
#else
#  define AXON_API __attribute__((visibility("default")))
#endif
