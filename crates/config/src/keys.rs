//! Directive names, interned as a small enum so that inheritance works on integers.

use crate::model::ObjectKind;

macro_rules! keys {
    ($($var:ident = $s:literal,)*) => {
        /// A known directive name (after alias normalisation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types, missing_docs)]
        pub enum Key { $($var,)* }

        impl Key {
            /// All keys, in declaration order.
            pub const ALL: &'static [Key] = &[$(Key::$var,)*];

            /// The canonical spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Key::$var => $s,)* }
            }

            fn lookup_canonical(s: &str) -> Option<Key> {
                match s { $($s => Some(Key::$var),)* _ => None }
            }
        }
    };
}

keys! {
    Use = "use",
    Name = "name",
    Register = "register",
    HostName = "host_name",
    HostgroupName = "hostgroup_name",
    ServiceDescription = "service_description",
    ServicegroupName = "servicegroup_name",
    ContactName = "contact_name",
    ContactgroupName = "contactgroup_name",
    TimeperiodName = "timeperiod_name",
    CommandName = "command_name",
    CommandLine = "command_line",
    DisplayName = "display_name",
    Alias = "alias",
    Address = "address",
    Parents = "parents",
    Hostgroups = "hostgroups",
    Servicegroups = "servicegroups",
    Contactgroups = "contactgroups",
    CheckCommand = "check_command",
    CheckPeriod = "check_period",
    EventHandler = "event_handler",
    NotificationPeriod = "notification_period",
    ContactGroups = "contact_groups",
    Contacts = "contacts",
    Notes = "notes",
    NotesUrl = "notes_url",
    ActionUrl = "action_url",
    IconImage = "icon_image",
    IconImageAlt = "icon_image_alt",
    VrmlImage = "vrml_image",
    StatusmapImage = "statusmap_image",
    Coords2d = "2d_coords",
    Coords3d = "3d_coords",
    InitialState = "initial_state",
    CheckInterval = "check_interval",
    RetryInterval = "retry_interval",
    MaxCheckAttempts = "max_check_attempts",
    ActiveChecksEnabled = "active_checks_enabled",
    PassiveChecksEnabled = "passive_checks_enabled",
    ParallelizeCheck = "parallelize_check",
    IsVolatile = "is_volatile",
    Obsess = "obsess",
    EventHandlerEnabled = "event_handler_enabled",
    CheckFreshness = "check_freshness",
    FreshnessThreshold = "freshness_threshold",
    LowFlapThreshold = "low_flap_threshold",
    HighFlapThreshold = "high_flap_threshold",
    FlapDetectionEnabled = "flap_detection_enabled",
    FlapDetectionOptions = "flap_detection_options",
    NotificationOptions = "notification_options",
    NotificationsEnabled = "notifications_enabled",
    NotificationInterval = "notification_interval",
    FirstNotificationDelay = "first_notification_delay",
    StalkingOptions = "stalking_options",
    ProcessPerfData = "process_perf_data",
    RetainStatusInformation = "retain_status_information",
    RetainNonstatusInformation = "retain_nonstatus_information",
    FailurePredictionEnabled = "failure_prediction_enabled",
    FailurePredictionOptions = "failure_prediction_options",
    Importance = "importance",
    Email = "email",
    Pager = "pager",
    Address1 = "address1",
    Address2 = "address2",
    Address3 = "address3",
    Address4 = "address4",
    Address5 = "address5",
    Address6 = "address6",
    HostNotificationPeriod = "host_notification_period",
    ServiceNotificationPeriod = "service_notification_period",
    HostNotificationCommands = "host_notification_commands",
    ServiceNotificationCommands = "service_notification_commands",
    HostNotificationOptions = "host_notification_options",
    ServiceNotificationOptions = "service_notification_options",
    HostNotificationsEnabled = "host_notifications_enabled",
    ServiceNotificationsEnabled = "service_notifications_enabled",
    CanSubmitCommands = "can_submit_commands",
    MinimumImportance = "minimum_importance",
    Members = "members",
    HostgroupMembers = "hostgroup_members",
    ServicegroupMembers = "servicegroup_members",
    ContactgroupMembers = "contactgroup_members",
    Exclude = "exclude",
    DependentHostName = "dependent_host_name",
    DependentHostgroupName = "dependent_hostgroup_name",
    DependentServiceDescription = "dependent_service_description",
    DependentServicegroupName = "dependent_servicegroup_name",
    InheritsParent = "inherits_parent",
    ExecutionFailureCriteria = "execution_failure_criteria",
    NotificationFailureCriteria = "notification_failure_criteria",
    DependencyPeriod = "dependency_period",
    FirstNotification = "first_notification",
    LastNotification = "last_notification",
    EscalationPeriod = "escalation_period",
    EscalationOptions = "escalation_options",
    // Shinken extensions that Picket models (the rest only warn).
    Notificationways = "notificationways",
    NotificationwayName = "notificationway_name",
    MinBusinessImpact = "min_business_impact",
    BusinessImpact = "business_impact",
}

/// Number of keys (size of presence bit sets).
pub const KEY_COUNT: usize = Key::ALL.len();

impl Key {
    /// Look a directive up for an object type, applying Nagios' aliases
    /// (`normal_check_interval`, `description`, `host`, …).
    pub fn parse(kind: ObjectKind, s: &str) -> Option<Key> {
        use ObjectKind as K;
        let alias = match (kind, s) {
            (K::Service | K::ServiceEscalation | K::ServiceExtInfo, "host" | "hosts") => {
                Some(Key::HostName)
            }
            (K::Service, "description") => Some(Key::ServiceDescription),
            (K::Service, "hostgroup" | "hostgroups") => Some(Key::HostgroupName),
            (K::Service, "service_groups") => Some(Key::Servicegroups),
            (K::Host | K::Service, "normal_check_interval") => Some(Key::CheckInterval),
            (K::Host | K::Service, "retry_check_interval") => Some(Key::RetryInterval),
            (K::Host | K::Service, "checks_enabled") => Some(Key::ActiveChecksEnabled),
            (K::Service, "obsess_over_service") => Some(Key::Obsess),
            (K::Host, "obsess_over_host") => Some(Key::Obsess),
            (K::Host | K::Service, "hourly_value") => Some(Key::Importance),
            (K::Host, "gd2_image") => Some(Key::StatusmapImage),
            (K::Contact, "minimum_value") => Some(Key::MinimumImportance),
            (K::Contact, "contact_groups") => Some(Key::Contactgroups),
            (K::ServiceDependency | K::HostDependency, "execution_failure_options") => {
                Some(Key::ExecutionFailureCriteria)
            }
            (K::ServiceDependency | K::HostDependency, "notification_failure_options") => {
                Some(Key::NotificationFailureCriteria)
            }
            _ => None,
        };
        let key = alias.or_else(|| Key::lookup_canonical(s))?;
        key.valid_for(kind).then_some(key)
    }

    /// Whether Nagios (or, for the Shinken keys, Shinken) accepts this key on `kind`.
    pub fn valid_for(self, kind: ObjectKind) -> bool {
        use Key::*;
        use ObjectKind as K;
        if matches!(self, Use | Name | Register) {
            return true;
        }
        match kind {
            K::Host => matches!(
                self,
                HostName
                    | DisplayName
                    | Alias
                    | Address
                    | Parents
                    | Hostgroups
                    | CheckCommand
                    | CheckPeriod
                    | EventHandler
                    | NotificationPeriod
                    | ContactGroups
                    | Contacts
                    | Notes
                    | NotesUrl
                    | ActionUrl
                    | IconImage
                    | IconImageAlt
                    | VrmlImage
                    | StatusmapImage
                    | Coords2d
                    | Coords3d
                    | InitialState
                    | CheckInterval
                    | RetryInterval
                    | MaxCheckAttempts
                    | ActiveChecksEnabled
                    | PassiveChecksEnabled
                    | Obsess
                    | EventHandlerEnabled
                    | CheckFreshness
                    | FreshnessThreshold
                    | LowFlapThreshold
                    | HighFlapThreshold
                    | FlapDetectionEnabled
                    | FlapDetectionOptions
                    | NotificationOptions
                    | NotificationsEnabled
                    | NotificationInterval
                    | FirstNotificationDelay
                    | StalkingOptions
                    | ProcessPerfData
                    | RetainStatusInformation
                    | RetainNonstatusInformation
                    | FailurePredictionEnabled
                    | FailurePredictionOptions
                    | Importance
                    | BusinessImpact
            ),
            K::Service => matches!(
                self,
                HostName
                    | HostgroupName
                    | ServiceDescription
                    | DisplayName
                    | Parents
                    | Servicegroups
                    | CheckCommand
                    | CheckPeriod
                    | EventHandler
                    | NotificationPeriod
                    | ContactGroups
                    | Contacts
                    | Notes
                    | NotesUrl
                    | ActionUrl
                    | IconImage
                    | IconImageAlt
                    | InitialState
                    | MaxCheckAttempts
                    | CheckInterval
                    | RetryInterval
                    | ActiveChecksEnabled
                    | PassiveChecksEnabled
                    | ParallelizeCheck
                    | IsVolatile
                    | Obsess
                    | EventHandlerEnabled
                    | CheckFreshness
                    | FreshnessThreshold
                    | LowFlapThreshold
                    | HighFlapThreshold
                    | FlapDetectionEnabled
                    | FlapDetectionOptions
                    | NotificationOptions
                    | NotificationsEnabled
                    | NotificationInterval
                    | FirstNotificationDelay
                    | StalkingOptions
                    | ProcessPerfData
                    | FailurePredictionEnabled
                    | FailurePredictionOptions
                    | RetainStatusInformation
                    | RetainNonstatusInformation
                    | Importance
                    | BusinessImpact
            ),
            K::Contact => matches!(
                self,
                ContactName
                    | Alias
                    | Contactgroups
                    | Email
                    | Pager
                    | Address1
                    | Address2
                    | Address3
                    | Address4
                    | Address5
                    | Address6
                    | HostNotificationPeriod
                    | ServiceNotificationPeriod
                    | HostNotificationCommands
                    | ServiceNotificationCommands
                    | HostNotificationOptions
                    | ServiceNotificationOptions
                    | HostNotificationsEnabled
                    | ServiceNotificationsEnabled
                    | CanSubmitCommands
                    | RetainStatusInformation
                    | RetainNonstatusInformation
                    | MinimumImportance
                    | Notificationways
                    | MinBusinessImpact
            ),
            K::ContactGroup => matches!(
                self,
                ContactgroupName | Alias | Members | ContactgroupMembers
            ),
            K::HostGroup => matches!(
                self,
                HostgroupName | Alias | Members | HostgroupMembers | Notes | NotesUrl | ActionUrl
            ),
            K::ServiceGroup => matches!(
                self,
                ServicegroupName
                    | Alias
                    | Members
                    | ServicegroupMembers
                    | Notes
                    | NotesUrl
                    | ActionUrl
            ),
            K::Command => matches!(self, CommandName | CommandLine),
            K::Timeperiod => matches!(self, TimeperiodName | Alias | Exclude),
            K::ServiceDependency => matches!(
                self,
                HostName
                    | HostgroupName
                    | ServiceDescription
                    | ServicegroupName
                    | DependentHostName
                    | DependentHostgroupName
                    | DependentServiceDescription
                    | DependentServicegroupName
                    | InheritsParent
                    | ExecutionFailureCriteria
                    | NotificationFailureCriteria
                    | DependencyPeriod
            ),
            K::HostDependency => matches!(
                self,
                HostName
                    | HostgroupName
                    | DependentHostName
                    | DependentHostgroupName
                    | InheritsParent
                    | ExecutionFailureCriteria
                    | NotificationFailureCriteria
                    | DependencyPeriod
            ),
            K::ServiceEscalation => matches!(
                self,
                HostName
                    | HostgroupName
                    | ServiceDescription
                    | ServicegroupName
                    | Contacts
                    | ContactGroups
                    | FirstNotification
                    | LastNotification
                    | NotificationInterval
                    | EscalationPeriod
                    | EscalationOptions
            ),
            K::HostEscalation => matches!(
                self,
                HostName
                    | HostgroupName
                    | Contacts
                    | ContactGroups
                    | FirstNotification
                    | LastNotification
                    | NotificationInterval
                    | EscalationPeriod
                    | EscalationOptions
            ),
            K::HostExtInfo => matches!(
                self,
                HostName
                    | HostgroupName
                    | Notes
                    | NotesUrl
                    | ActionUrl
                    | IconImage
                    | IconImageAlt
                    | VrmlImage
                    | StatusmapImage
                    | Coords2d
                    | Coords3d
            ),
            K::ServiceExtInfo => matches!(
                self,
                HostName
                    | HostgroupName
                    | ServiceDescription
                    | Notes
                    | NotesUrl
                    | ActionUrl
                    | IconImage
                    | IconImageAlt
            ),
            K::NotificationWay => matches!(
                self,
                NotificationwayName
                    | HostNotificationPeriod
                    | ServiceNotificationPeriod
                    | HostNotificationCommands
                    | ServiceNotificationCommands
                    | HostNotificationOptions
                    | ServiceNotificationOptions
                    | HostNotificationsEnabled
                    | ServiceNotificationsEnabled
                    | MinBusinessImpact
            ),
        }
    }

    /// Keys whose value is a list and that accept additive `+` inheritance in Nagios.
    pub fn is_additive_list(self) -> bool {
        use Key::*;
        matches!(
            self,
            HostName
                | HostgroupName
                | Servicegroups
                | Contacts
                | ContactGroups
                | Contactgroups
                | Parents
                | Hostgroups
                | Members
                | HostgroupMembers
                | ServicegroupMembers
                | ContactgroupMembers
                | Exclude
                | Notificationways
        )
    }

    /// Keys that are not inherited from templates (identity and template machinery).
    pub fn is_not_inherited(self) -> bool {
        matches!(self, Key::Use | Key::Name | Key::Register)
    }
}

/// Directives Shinken adds on objects. Parsed and kept out of the way with a warning.
pub fn is_shinken_directive(s: &str) -> bool {
    matches!(
        s,
        "poller_tag"
            | "reactionner_tag"
            | "realm"
            | "duplicate_foreach"
            | "default_value"
            | "service_dependencies"
            | "service_excludes"
            | "service_includes"
            | "service_overrides"
            | "maintenance_period"
            | "business_impact_modulations"
            | "resultmodulations"
            | "checkmodulations"
            | "macromodulations"
            | "escalations"
            | "trigger"
            | "trigger_name"
            | "trigger_broker_raise_enabled"
            | "snapshot_enabled"
            | "snapshot_command"
            | "snapshot_period"
            | "snapshot_criteria"
            | "snapshot_interval"
            | "business_rule_output_template"
            | "business_rule_smart_notifications"
            | "business_rule_downtime_as_ack"
            | "business_rule_host_notification_options"
            | "business_rule_service_notification_options"
            | "business_impact"
            | "labels"
            | "host_dependency_enabled"
            | "merge_host_contacts"
            | "password"
            | "is_admin"
            | "expert"
            | "module_type"
            | "timeout"
            | "enable_environment_macros"
            | "custom_views"
            | "icon_set"
            | "time_to_orphanage"
            | "freshness_state"
            | "initial_output"
            | "address6"
            | "statusmap_image"
            | "imported_from"
            | "definition_order"
            | "criticity"
            | "aggregation"
            | "check_type"
            | "hostgroup_name"
            | "min_criticity"
            | "source_problems"
            | "last_time_unreachable"
            | "flap_detection_options"
            | "min_business_impact"
            | "notificationways"
            | "notificationway_name"
            | "is_template"
            | "tags"
    )
}
