# SPDX-License-Identifier: MIT
# promptops_layer(NAME DEPS...): one static library per src/<dir>, linking only the layers below it.
# Sources are every .cpp in the directory (CONFIGURE_DEPENDS re-globs on build), so adding a file
# needs no edit here. A layer with no sources yet is an interface library that forwards its deps.
function(promptops_layer name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(promptops_${name} STATIC ${sources})
    target_include_directories(promptops_${name}
      PUBLIC ${PROJECT_SOURCE_DIR}/include
      PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(promptops_${name} PUBLIC ${ARGN} PRIVATE promptops_warnings)
  else()
    add_library(promptops_${name} INTERFACE)
    target_include_directories(promptops_${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(promptops_${name} INTERFACE ${ARGN})
  endif()
endfunction()
