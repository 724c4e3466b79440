# SPDX-License-Identifier: MIT
# The man pages as the text `man` shows, built into the binary: `git promptops help CMD`, `-h` and
# `CMD --help` print it before and without an installation (as git-lfs does). One source: the
# roff pages under man/, rendered by groff at build time, 78 columns, no terminal escapes.
#
# At configure time, include this file and call promptops_embed_man_pages(TARGET MAN_DIR OUTPUT);
# at build time it runs itself in script mode (-P) to write OUTPUT, a .cpp defining
# `const std::vector<EmbeddedFile>& embedded_manuals()` ("git-promptops-eval" -> its text).

if(CMAKE_SCRIPT_MODE_FILE)
  file(GLOB pages ${MAN_DIR}/*.1)
  list(SORT pages)
  set(body "// Generated from man/ by cmake/EmbedManPages.cmake; do not edit.\n")
  string(APPEND body "#include \"templates.hpp\"\n\nnamespace promptops::cli {\n\n")
  string(APPEND body "const std::vector<EmbeddedFile>& embedded_manuals() {\n")
  string(APPEND body "  static const std::vector<EmbeddedFile> files = {\n")
  foreach(page ${pages})
    get_filename_component(name ${page} NAME_WE)
    execute_process(COMMAND ${GROFF} -t -mandoc -Tutf8 -P-cbou -rLL=78n -rLT=78n ${page}
                    OUTPUT_VARIABLE text ERROR_VARIABLE problems RESULT_VARIABLE status)
    if(NOT status EQUAL 0 OR NOT problems STREQUAL "")
      message(FATAL_ERROR "groff could not render ${page} (${status}): ${problems}")
    endif()
    string(REGEX REPLACE "\n\n\n+" "\n\n" text "${text}")
    string(APPEND body "      {\"${name}\", R\"PROMPTOPS_MAN(${text})PROMPTOPS_MAN\"},\n")
  endforeach()
  string(APPEND body "  };\n  return files;\n}\n\n}  // namespace promptops::cli\n")
  file(WRITE ${OUTPUT}.new "${body}")
  file(RENAME ${OUTPUT}.new ${OUTPUT})
  return()
endif()

find_program(GROFF_EXECUTABLE groff)
if(NOT GROFF_EXECUTABLE)
  message(FATAL_ERROR "groff renders the built-in help from man/ and is not installed: "
                      "run scripts/install-deps.sh (Debian's man-db brings groff-base)")
endif()

function(promptops_embed_man_pages target man_dir output)
  file(GLOB pages CONFIGURE_DEPENDS ${man_dir}/*.1)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DGROFF=${GROFF_EXECUTABLE} -DMAN_DIR=${man_dir} -DOUTPUT=${output}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    DEPENDS ${pages} ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    COMMENT "Rendering the man pages for the built-in help"
    VERBATIM)
  set_source_files_properties(${output} PROPERTIES SKIP_UNITY_BUILD_INCLUDE ON)
  target_sources(${target} PRIVATE ${output})
endfunction()
