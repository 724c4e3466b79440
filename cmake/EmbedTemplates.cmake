# SPDX-License-Identifier: MIT
# Embeds a directory into the binary as a function returning its files (cli/templates.hpp):
# templates/ (what `git promptops init` scaffolds) and hooks/ (the shims `hooks install` writes),
# so that both work wherever the executable is installed. Regenerated when a file changes.

# promptops_embed_directory(TARGET SOURCE_DIR OUTPUT FUNCTION [HEADER h NAMESPACE ns]): writes
# OUTPUT, a .cpp defining `const std::vector<EmbeddedFile>& FUNCTION()` with every file under
# SOURCE_DIR (paths relative to it, sorted), and adds it to TARGET. HEADER (default templates.hpp)
# declares EmbeddedFile in NAMESPACE (default promptops::cli); judges/ goes to the eval layer.
function(promptops_embed_directory target source_dir output function_name)
  cmake_parse_arguments(EMBED "" "HEADER;NAMESPACE" "" ${ARGN})
  if(NOT EMBED_HEADER)
    set(EMBED_HEADER templates.hpp)
  endif()
  if(NOT EMBED_NAMESPACE)
    set(EMBED_NAMESPACE promptops::cli)
  endif()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS RELATIVE ${source_dir} ${source_dir}/*)
  list(SORT files)
  get_filename_component(dir_name ${source_dir} NAME)
  set(body "// Generated from ${dir_name}/ by cmake/EmbedTemplates.cmake; do not edit.\n")
  string(APPEND body "#include \"${EMBED_HEADER}\"\n\nnamespace ${EMBED_NAMESPACE} {\n\n")
  string(APPEND body "const std::vector<EmbeddedFile>& ${function_name}() {\n")
  string(APPEND body "  static const std::vector<EmbeddedFile> files = {\n")
  foreach(file ${files})
    file(READ ${source_dir}/${file} content)
    string(APPEND body "      {\"${file}\", R\"PROMPTOPS_EMBED(${content})PROMPTOPS_EMBED\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source_dir}/${file})
  endforeach()
  string(APPEND body "  };\n  return files;\n}\n\n}  // namespace ${EMBED_NAMESPACE}\n")
  file(CONFIGURE OUTPUT ${output} CONTENT "${body}" @ONLY)
  target_sources(${target} PRIVATE ${output})
endfunction()

# templates/ as embedded_templates().
function(promptops_embed_templates target source_dir output)
  promptops_embed_directory(${target} ${source_dir} ${output} embedded_templates)
endfunction()
