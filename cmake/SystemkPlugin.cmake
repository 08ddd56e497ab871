# systemk_add_plugin(<target> SOURCES ...): a plugin shared object that exports only
# systemk_plugin_entry, resolves every symbol at link time and sees only the public header.
function(systemk_add_plugin target)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${SYSTEMK_PLUGIN_OUTPUT_DIR})
  if(P_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  endif()
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/include)
  target_link_options(${target} PRIVATE
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/plugin.map)
  if(NOT SYSTEMK_SANITIZE)
    # The sanitizer runtime lives in the executable, so plugins can't resolve it at link time.
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  target_link_libraries(${target} PRIVATE ${P_LIBRARIES})
  if(NOT P_OUTPUT_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${SYSTEMK_PLUGIN_INSTALL_DIR})
  endif()
endfunction()

# systemk_add_plugin_backend(<target> SOURCES ... LIBRARIES ...): lib<target>.so, the part of a
# plugin linked against a heavy library, which the plugin's front dlopens on first use. It lives
# in the plugin directory's backends/ subdirectory, where the host's scan (every *.so directly
# in a plugin directory) never sees it, and exports only systemk_backend_make.
function(systemk_add_plugin_backend target)
  cmake_parse_arguments(P "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${SYSTEMK_PLUGIN_OUTPUT_DIR}/backends)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/include)
  target_link_options(${target} PRIVATE
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/plugin_backend.map)
  if(NOT SYSTEMK_SANITIZE)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  target_link_libraries(${target} PRIVATE ${P_LIBRARIES})
  install(TARGETS ${target} LIBRARY DESTINATION ${SYSTEMK_PLUGIN_INSTALL_DIR}/backends)
endfunction()
