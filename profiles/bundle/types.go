package bundle

import "strings"

// The resource type names of FHIR R4 (4.0.1) and STU3 (3.0.1), as the core
// StructureDefinitions of kind resource name them. They tell a RESTful
// "Type/id" reference or search URL from other text.
var (
	r4Types = words(`
	Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse
	AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement
	CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse
	ClinicalImpression CodeSystem Communication CommunicationRequest CompartmentDefinition
	Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest
	CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest
	DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference DomainResource
	EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare
	EventDefinition Evidence EvidenceVariable ExampleScenario ExplanationOfBenefit
	FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse HealthcareService
	ImagingStudy Immunization ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide
	InsurancePlan Invoice Library Linkage List Location Measure MeasureReport Media Medication
	MedicationAdministration MedicationDispense MedicationKnowledge MedicationRequest
	MedicationStatement MedicinalProduct MedicinalProductAuthorization
	MedicinalProductContraindication MedicinalProductIndication MedicinalProductIngredient
	MedicinalProductInteraction MedicinalProductManufactured MedicinalProductPackaged
	MedicinalProductPharmaceutical MedicinalProductUndesirableEffect MessageDefinition MessageHeader
	MolecularSequence NamingSystem NutritionOrder Observation ObservationDefinition
	OperationDefinition OperationOutcome Organization OrganizationAffiliation Parameters Patient
	PaymentNotice PaymentReconciliation Person PlanDefinition Practitioner PractitionerRole
	Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson RequestGroup
	ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment
	RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition
	StructureDefinition StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer
	SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification
	SupplyDelivery SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet
	VerificationResult VisionPrescription`)
	stu3Types = words(`
	Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse
	AuditEvent Basic Binary BodySite Bundle CapabilityStatement CarePlan CareTeam ChargeItem Claim
	ClaimResponse ClinicalImpression CodeSystem Communication CommunicationRequest
	CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage DataElement
	DetectedIssue Device DeviceComponent DeviceMetric DeviceRequest DeviceUseStatement
	DiagnosticReport DocumentManifest DocumentReference DomainResource EligibilityRequest
	EligibilityResponse Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare
	ExpansionProfile ExplanationOfBenefit FamilyMemberHistory Flag Goal GraphDefinition Group
	GuidanceResponse HealthcareService ImagingManifest ImagingStudy Immunization
	ImmunizationRecommendation ImplementationGuide Library Linkage List Location Measure
	MeasureReport Media Medication MedicationAdministration MedicationDispense MedicationRequest
	MedicationStatement MessageDefinition MessageHeader NamingSystem NutritionOrder Observation
	OperationDefinition OperationOutcome Organization Parameters Patient PaymentNotice
	PaymentReconciliation Person PlanDefinition Practitioner PractitionerRole Procedure
	ProcedureRequest ProcessRequest ProcessResponse Provenance Questionnaire QuestionnaireResponse
	ReferralRequest RelatedPerson RequestGroup ResearchStudy ResearchSubject RiskAssessment Schedule
	SearchParameter Sequence ServiceDefinition Slot Specimen StructureDefinition StructureMap
	Subscription Substance SupplyDelivery SupplyRequest Task TestReport TestScript ValueSet
	VisionPrescription`)
)

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}
