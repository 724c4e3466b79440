# SPDX-License-Identifier: MIT
# promptops_layer(NAME DEPS...): one static library per src/<dir>, linking only the layers below it.
# Sources are every .cpp in the directory (CONFIGURE_DEPENDS re-globs on build), so adding a file
# needs no edit here. A layer with no sources yet is an interface library that forwards its deps.
#
# Headers: a layer's public headers are src/<dir>/include/promptops/<dir>/*.hpp, and that include
# directory is the only one it gives to the targets that link it. Its private headers sit beside
# its sources and are included by bare name. No target sees src/ as a whole, so a file that
# includes a header of a layer it does not link to (a higher or undeclared one) does not compile;
# scripts/check-layers.py says so by name in the tests (ARCHITECTURE.md, "Layers").
function(promptops_layer name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(promptops_${name} STATIC ${sources})
    target_include_directories(promptops_${name}
      PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
      PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(promptops_${name} PUBLIC ${ARGN} PRIVATE promptops_warnings)
    promptops_precompile(promptops_${name})
  else()
    add_library(promptops_${name} INTERFACE)
    target_include_directories(promptops_${name} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(promptops_${name} INTERFACE ${ARGN})
  endif()
endfunction()
