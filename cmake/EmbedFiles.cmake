# opsrl_embed_files(TARGET target NAMESPACE ns FILES a.toml b.toml)
# Generates a source file that holds each file's text as a string literal, so that the binary
# carries its default scenarios and works from any directory. The generated function is
#   std::span<const opsrl::EmbeddedFile> ns::embedded_files();
function(opsrl_embed_files)
  cmake_parse_arguments(ARG "" "TARGET;NAMESPACE" "FILES" ${ARGN})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_embedded.cpp")
  set(script "${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAMESPACE=${ARG_NAMESPACE} "-DFILES=${ARG_FILES}"
            -P "${script}"
    DEPENDS ${ARG_FILES} "${script}"
    COMMENT "Embedding ${ARG_NAMESPACE} files"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE "${out}")
endfunction()
