# embed_files(OUTPUT SYMBOL FILE...) generates OUTPUT, a C++ source that
# defines `const authsvc::EmbeddedFile SYMBOL[]` and `SYMBOL_count` holding
# the files' base names and bytes. Regenerated whenever an input changes.
set(AUTHSVC_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_script.cmake)

function(embed_files output symbol)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DSYMBOL=${symbol} "-DINPUTS=${ARGN}"
            -P ${AUTHSVC_EMBED_SCRIPT}
    DEPENDS ${ARGN} ${AUTHSVC_EMBED_SCRIPT}
    COMMENT "Embedding ${symbol}"
    VERBATIM)
endfunction()
