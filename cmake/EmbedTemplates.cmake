# SPDX-License-Identifier: MIT
# Embeds templates/ (what `git promptops init` scaffolds) into the binary, so that init works
# wherever the executable is installed. Regenerated when a template changes.
function(promptops_embed_templates target source_dir output)
  file(GLOB_RECURSE files CONFIGURE_DEPENDS RELATIVE ${source_dir} ${source_dir}/*)
  list(SORT files)
  set(body "// Generated from templates/ by cmake/EmbedTemplates.cmake; do not edit.\n")
  string(APPEND body "#include \"cli/templates.hpp\"\n\nnamespace promptops::cli {\n\n")
  string(APPEND body "const std::vector<EmbeddedFile>& embedded_templates() {\n")
  string(APPEND body "  static const std::vector<EmbeddedFile> files = {\n")
  foreach(file ${files})
    file(READ ${source_dir}/${file} content)
    string(APPEND body "      {\"${file}\", R\"PROMPTOPS_EMBED(${content})PROMPTOPS_EMBED\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source_dir}/${file})
  endforeach()
  string(APPEND body "  };\n  return files;\n}\n\n}  // namespace promptops::cli\n")
  file(CONFIGURE OUTPUT ${output} CONTENT "${body}" @ONLY)
  target_sources(${target} PRIVATE ${output})
endfunction()
